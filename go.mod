module pktfwd

go 1.26.8

require (
	github.com/creack/pty v1.1.21 // indirect
	github.com/fsnotify/fsnotify v1.7.0 // indirect
	github.com/getsentry/sentry-go v0.29.1 // indirect
	github.com/kelseyhightower/envconfig v1.4.0 // indirect
	github.com/sirupsen/logrus v1.9.3 // indirect
	github.com/warthog618/go-gpiocdev v0.9.1 // indirect
	golang.org/x/sys v0.18.0 // indirect
	golang.org/x/text v0.14.0 // indirect
	periph.io/x/conn/v3 v3.7.1 // indirect
	periph.io/x/host/v3 v3.8.2 // indirect
)
