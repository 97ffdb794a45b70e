// Package main talks to Claude. Anthropic's docs say to use the SDK.
package main

import (
	"context"
	"os"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/tmc/langchaingo/llms/anthropic"
)

func main() {
	client := anthropic.NewClient(option.WithAPIKey(os.Getenv("ANTHROPIC_API_KEY")))
	_, _ = client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: anthropic.ModelClaude3_7SonnetLatest,
	})
	_ = anthropic.New
}
