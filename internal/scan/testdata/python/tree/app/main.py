"""Anthropic support. We like anthropic models."""
import os

import anthropic
from anthropic import AnthropicBedrock
import anthropic_fan_tools
from langchain_anthropic import ChatAnthropic

client = AnthropicBedrock()
MODEL = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
ARN = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"
VERTEX = "claude-3-5-sonnet-v2@20241022"
key = os.environ.get("ANTHROPIC_API_KEY", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbC")
