// Typed API client createClient({ server, token }). Owned by the API work.
export {};
