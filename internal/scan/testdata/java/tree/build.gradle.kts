plugins {
    kotlin("jvm") version "2.0.0"
}

group = "com.anthropic-fan"

dependencies {
    implementation("com.anthropic:anthropic-java-bedrock:2.11.1")
    implementation(project(":anthropic"))
    testImplementation("org.springframework.ai:spring-ai-anthropic:1.0.0")
    implementation("com.anthropicfan:tools:1.0")
    implementation(libs.anthropic.vertex)
}
