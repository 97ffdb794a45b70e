<?php
use Anthropic\Client;
use AnthropicFan\Helpers;

$client = new Client(apiKey: getenv('ANTHROPIC_API_KEY'));
