"""Gateway adapters against their real SDKs, with only the HTTP layer stubbed."""
