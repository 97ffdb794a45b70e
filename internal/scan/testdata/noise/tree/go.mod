module github.com/anthropic-fan/tools

go 1.23

require github.com/anthropic-fan/helpers v0.1.0
