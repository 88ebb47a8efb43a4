// Project configuration (.nexus/config.yaml): schema, parser, loader. Owned by the config work.
export {};
