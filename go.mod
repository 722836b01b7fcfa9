module pktfwd

go 1.23

require (
	github.com/fsnotify/fsnotify v1.7.0
	github.com/getsentry/sentry-go v0.29.1
	github.com/kelseyhightower/envconfig v1.4.0
	github.com/sirupsen/logrus v1.9.3
	github.com/warthog618/go-gpiocdev v0.9.1
	golang.org/x/sys v0.24.0
	google.golang.org/grpc v1.67.1
	google.golang.org/protobuf v1.36.12
	periph.io/x/conn/v3 v3.7.1
	periph.io/x/host/v3 v3.8.2
)

require (
	golang.org/x/net v0.28.0 // indirect
	golang.org/x/text v0.17.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240814211410-ddb44dafa142 // indirect
)
