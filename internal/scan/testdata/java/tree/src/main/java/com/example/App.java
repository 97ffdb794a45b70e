package com.example;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.models.messages.Model;
import com.anthropicfan.Helper;
import dev.langchain4j.model.anthropic.AnthropicChatModel;

public class App {
    public static void main(String[] args) {
        AnthropicClient client = AnthropicOkHttpClient.fromEnv();
        var params = MessageCreateParams.builder().model(Model.CLAUDE_3_7_SONNET_LATEST).build();
    }
}
