module example.com/gateway

go 1.23

require github.com/anthropics/anthropic-sdk-go v1.2.0
