// Store contract (users, keys, tokens, workspaces, services, phases, nodes, commands, ports). Owned by the store work.
export {};
