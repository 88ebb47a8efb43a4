// Maps a path in the parsed data (["services", "api", "port"]) back to a line and column
// in the YAML source, so every message can name file:line:column.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from "yaml";

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export type DataPath = readonly PropertyKey[];

export class YamlLocator {
  readonly #doc: Document;
  readonly #lines: LineCounter;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  at(offset: number): SourcePosition {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * Where the value at `path` starts, or its key when `target` is "key". A path that is not in
   * the source (a missing required field, a default) resolves to the key of its nearest
   * existing ancestor, e.g. a service missing `command` points at the service's name.
   */
  locate(path: DataPath, target: "value" | "key" = "value"): SourcePosition {
    let node: unknown = this.#doc.contents;
    let pair: Pair | undefined;
    let found = 0;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.#doc);
      if (isMap(node)) {
        const next = node.items.find((item) => keyText(item.key) === String(segment));
        if (!next) break;
        pair = next;
        node = next.value;
      } else if (isSeq(node) && typeof segment === "number" && segment >= 0 && segment < node.items.length) {
        pair = undefined;
        node = node.items[segment];
      } else {
        break;
      }
      found++;
    }
    const complete = found === path.length;
    const keyNode = pair?.key as Node | null | undefined;
    const valueNode = node as Node | null | undefined;
    // Point at the key for key-level problems, for missing values, and when the path ran out.
    const preferKey = target === "key" || !complete || !valueNode?.range;
    const chosen = preferKey && keyNode?.range ? keyNode : valueNode?.range ? valueNode : keyNode;
    return this.at(chosen?.range?.[0] ?? 0);
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return key === null || key === undefined ? undefined : String(key);
}
