"""Infrastructure every domain uses: cache, rate limits, middleware, sessions, uploads,
Markdown, audit, logging, health and error pages."""
