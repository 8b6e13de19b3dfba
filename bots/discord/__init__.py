"""The Discord adapter: `/ask` and mentions streamed into messages through the relay."""
