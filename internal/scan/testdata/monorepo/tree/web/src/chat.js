const Anthropic = require("@anthropic-ai/sdk");
