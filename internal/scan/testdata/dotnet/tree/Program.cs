using System;
using Anthropic;
using AnthropicFan.Tools;
using Anthropic.Models.Messages;

var client = new AnthropicClient();
var p = new MessageCreateParams { Model = "claude-sonnet-4-5", MaxTokens = 1024 };
