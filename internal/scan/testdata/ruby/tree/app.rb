require "anthropic"
require "anthropic_fan"

client = Anthropic::Client.new(api_key: ENV["ANTHROPIC_API_KEY"])
client.messages.create(model: "claude-opus-4-1-20250805", max_tokens: 1024, messages: [])
