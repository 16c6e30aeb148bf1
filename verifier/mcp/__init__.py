"""The MCP resource-server kit (DESIGN §7): token verification for the official ``mcp`` SDK,
per-tool scope guard, RFC 9728 metadata, audit hook, and a decentralized (presentation) mode.

Import from the submodules: ``verifier.mcp.app`` (``MCPKit``), ``verifier.mcp.token_verifier``,
``verifier.mcp.guard``, ``verifier.mcp.metadata``, ``verifier.mcp.audit_hook``,
``verifier.mcp.decentralized``.
"""
