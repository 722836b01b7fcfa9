module pktfwd

go 1.26.8

require (
	github.com/fsnotify/fsnotify v1.7.0
	github.com/getsentry/sentry-go v0.29.1
	github.com/kelseyhightower/envconfig v1.4.0
	github.com/sirupsen/logrus v1.9.3
	github.com/warthog618/go-gpiocdev v0.9.1
	golang.org/x/sys v0.18.0
	periph.io/x/conn/v3 v3.7.1
	periph.io/x/host/v3 v3.8.2
)

require golang.org/x/text v0.14.0 // indirect
