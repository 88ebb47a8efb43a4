// The node's CA bundle is mostly the same public roots the container already trusts;
// only the certificates the container lacks (an intercepting proxy's, a corporate
// root) are worth injecting.

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates in a PEM text, each normalised to its base64 body (whitespace removed). */
export function splitCertificates(pem: string): Map<string, string> {
  const certs = new Map<string, string>();
  for (const match of pem.matchAll(PEM_CERT)) {
    const block = match[0];
    const body = block.replace(/-----(?:BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
    if (!certs.has(body)) certs.set(body, block);
  }
  return certs;
}

/** PEM text of the certificates in `wanted` that `present` lacks; empty when there are none. */
export function certificatesMissingFrom(wanted: string, present: string): string {
  const have = splitCertificates(present);
  const missing = [...splitCertificates(wanted)].filter(([body]) => !have.has(body)).map(([, block]) => block);
  return missing.length ? `${missing.join("\n")}\n` : "";
}
