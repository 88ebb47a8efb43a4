// Parser for the small subset of POSIX sh the fake container understands: simple
// commands joined by `;`, newlines, `&&` and `||`; single and double quotes; `$NAME`,
// `${NAME}`, `$1`…`$9`, `$#`, `$?`; `! cmd`; redirections `>`, `>>`, `<`, `2>`, `>&2`, `2>&1`.
// Anything else (pipes, subshells, command substitution, globs, here-docs) is reported
// as unsupported instead of being misread: scripted responses go through onExec.

export type WordPart = { literal: string } | { variable: string };

export interface Word {
  parts: WordPart[];
  /** True when any quote appeared: an empty expansion still yields an (empty) word. */
  quoted: boolean;
}

export type Redirect =
  | { fd: 0 | 1 | 2; kind: "file"; append: boolean; target: Word }
  | { fd: 1 | 2; kind: "dup"; to: 1 | 2 };

export interface SimpleCommand {
  words: Word[];
  redirects: Redirect[];
}

export interface ListItem {
  /** How this command joins the previous one. */
  connector: ";" | "&&" | "||";
  command: SimpleCommand;
}

export class UnsupportedSyntax extends Error {}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export function parseScript(script: string): ListItem[] {
  const items: ListItem[] = [];
  let connector: ListItem["connector"] = ";";
  let command: SimpleCommand = { words: [], redirects: [] };
  let word: Word | undefined;
  let pendingRedirect: { fd: 0 | 1 | 2; append: boolean } | undefined;
  let i = 0;

  const part = (p: WordPart) => {
    word ??= { parts: [], quoted: false };
    const last = word.parts.at(-1);
    if ("literal" in p && last && "literal" in last) last.literal += p.literal;
    else word.parts.push(p);
  };
  const endWord = () => {
    if (!word) return;
    if (pendingRedirect) {
      command.redirects.push({ fd: pendingRedirect.fd, kind: "file", append: pendingRedirect.append, target: word });
      pendingRedirect = undefined;
    } else {
      command.words.push(word);
    }
    word = undefined;
  };
  const endCommand = (next: ListItem["connector"]) => {
    endWord();
    if (pendingRedirect) throw new UnsupportedSyntax("redirection without a target");
    if (command.words.length > 0 || command.redirects.length > 0) items.push({ connector, command });
    else if (next !== ";") throw new UnsupportedSyntax(`"${next}" without a command before it`);
    command = { words: [], redirects: [] };
    connector = next;
  };
  const readVariable = (): WordPart => {
    // At script[i] === "$".
    const next = script[i + 1];
    if (next === "{") {
      const close = script.indexOf("}", i + 2);
      const name = close === -1 ? "" : script.slice(i + 2, close);
      if (!/^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9#?])$/.test(name)) throw new UnsupportedSyntax(`\${${name}…}`);
      i = close + 1;
      return { variable: name };
    }
    if (next !== undefined && /[0-9#?]/.test(next)) {
      i += 2;
      return { variable: next };
    }
    if (next !== undefined && NAME_START.test(next)) {
      let end = i + 1;
      while (end < script.length && NAME_CHAR.test(script[end]!)) end++;
      const name = script.slice(i + 1, end);
      i = end;
      return { variable: name };
    }
    if (next === "(") throw new UnsupportedSyntax("command substitution $(…)");
    i += 1;
    return { literal: "$" };
  };

  while (i < script.length) {
    const c = script[i]!;
    if (c === " " || c === "\t") {
      endWord();
      i++;
    } else if (c === "\n" || c === ";") {
      endCommand(";");
      i++;
    } else if (c === "&" || c === "|") {
      if (script[i + 1] !== c) throw new UnsupportedSyntax(c === "|" ? "pipes" : "background jobs (&)");
      endCommand(c === "&" ? "&&" : "||");
      i += 2;
    } else if (c === "#" && !word) {
      while (i < script.length && script[i] !== "\n") i++;
    } else if (c === ">" || c === "<") {
      // An unquoted lone "1" or "2" just before the operator names the fd.
      let fd: 0 | 1 | 2 = c === "<" ? 0 : 1;
      const only = word && !word.quoted && word.parts.length === 1 ? word.parts[0] : undefined;
      if (only && "literal" in only && (only.literal === "1" || only.literal === "2")) {
        fd = Number(only.literal) as 1 | 2;
        word = undefined;
      } else {
        endWord();
      }
      if (pendingRedirect) throw new UnsupportedSyntax("redirection without a target");
      if (c === "<") {
        if (script[i + 1] === "<") throw new UnsupportedSyntax("here-documents");
        pendingRedirect = { fd: 0, append: false };
        i += 1;
      } else if (script[i + 1] === "&") {
        const to = script[i + 2];
        if (to !== "1" && to !== "2") throw new UnsupportedSyntax(`>&${to ?? ""}`);
        command.redirects.push({ fd: fd as 1 | 2, kind: "dup", to: Number(to) as 1 | 2 });
        i += 3;
      } else {
        const append = script[i + 1] === ">";
        pendingRedirect = { fd, append };
        i += append ? 2 : 1;
      }
    } else if (c === "'") {
      const close = script.indexOf("'", i + 1);
      if (close === -1) throw new UnsupportedSyntax("unterminated single quote");
      part({ literal: script.slice(i + 1, close) });
      word!.quoted = true;
      i = close + 1;
    } else if (c === '"') {
      word ??= { parts: [], quoted: true };
      word.quoted = true;
      i++;
      while (script[i] !== '"') {
        if (i >= script.length) throw new UnsupportedSyntax("unterminated double quote");
        const d = script[i]!;
        if (d === "\\" && /["\\$`\n]/.test(script[i + 1] ?? "")) {
          part({ literal: script[i + 1]! });
          i += 2;
        } else if (d === "$") {
          part(readVariable());
        } else if (d === "`") {
          throw new UnsupportedSyntax("command substitution `…`");
        } else {
          part({ literal: d });
          i++;
        }
      }
      i++;
    } else if (c === "\\") {
      if (script[i + 1] === "\n") i += 2;
      else {
        part({ literal: script[i + 1] ?? "" });
        i += 2;
      }
    } else if (c === "$") {
      part(readVariable());
    } else if (c === "`" || c === "(" || c === ")") {
      throw new UnsupportedSyntax(c === "`" ? "command substitution `…`" : "subshells");
    } else if (c === "*" || c === "?") {
      throw new UnsupportedSyntax(`unquoted glob "${c}"`);
    } else {
      part({ literal: c });
      i++;
    }
  }
  endCommand(";");
  return items;
}
