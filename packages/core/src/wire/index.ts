// API wire schemas (SPEC §5). Owned by the API work.
export {};
