// Package localapi is the generated client (and server, for tests) of the
// gateway-rs local API's region call. Regenerate with `go generate` after
// installing protoc, protoc-gen-go and protoc-gen-go-grpc (see README).
package localapi

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative local.proto
