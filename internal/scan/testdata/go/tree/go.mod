module github.com/anthropic-fan/tools

go 1.23

require (
	github.com/anthropics/anthropic-sdk-go v1.2.0
	github.com/anthropic-fan/helpers v0.1.0
	golang.org/x/sync v0.8.0
)

require github.com/tmc/langchaingo v0.1.12 // indirect

replace github.com/anthropic-fan/helpers => ./internal/fan
