locals {
  model = "eu.anthropic.claude-3-7-sonnet-20250219-v1:0"
}
