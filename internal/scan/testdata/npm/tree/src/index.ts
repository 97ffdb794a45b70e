import Anthropic from "@anthropic-ai/sdk";
import { anthropic } from '@ai-sdk/anthropic';
import { helper } from "anthropic-utils";
// Anthropic makes Claude; this comment mentions them but uses nothing.

const client = new Anthropic({ apiKey: process.env.ANTHROPIC_API_KEY });
const res = await fetch("https://api.anthropic.com/v1/messages", {
  body: JSON.stringify({ model: "claude-3-5-haiku-latest" }),
});
const { query } = await import("@anthropic-ai/claude-agent-sdk");
