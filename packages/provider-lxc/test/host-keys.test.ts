import t from "tap";
import ssh2 from "ssh2";
import { generateHostKey } from "../src/host-keys.js";

t.test("host keys: every generated key parses as a 32-byte ed25519 key (ssh2 alone gets ~1 in 256 wrong)", async (t) => {
  for (let i = 0; i < 600; i++) {
    const key = generateHostKey();
    const pub = ssh2.utils.parseKey(key.publicKey);
    if (pub instanceof Error || pub.getPublicSSH().length !== 51 || ssh2.utils.parseKey(key.privateKey) instanceof Error) {
      t.fail(`key ${i} is malformed: ${key.publicKey}`);
      return;
    }
    if (i === 0) t.match(key.publicKey, /^ssh-ed25519 [A-Za-z0-9+/]+=*$/, "no comment");
  }
  t.pass("600 well-formed host keys");
});
