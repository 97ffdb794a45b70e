package main

import "github.com/anthropics/anthropic-sdk-go"

var _ = anthropic.NewClient
