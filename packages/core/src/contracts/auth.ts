import type { Secret } from "../secret.js";
import type { Op } from "./common.js";

export type CredentialSource = "env" | "gh" | "device" | "stored" | "argument";

export interface Credentials {
  token: Secret;
  source: CredentialSource;
}

export interface Identity {
  login: string;
  id: number;
  name?: string | null;
}

export interface DeviceCodePrompt {
  verificationUri: string;
  userCode: string;
  expiresInSeconds: number;
}

export interface ResolveOptions {
  /** May the provider start an interactive flow (device code)? */
  interactive: boolean;
  /** Called with the code the user must enter, when the device flow runs. */
  onDeviceCode?: (prompt: DeviceCodePrompt) => void;
}

export interface AuthProviderInstance {
  /** Finds credentials from the provider's sources in order; null when none and not interactive. */
  resolve(op: Op, options: ResolveOptions): Promise<Credentials | null>;
  /** Verifies a token and returns whom it belongs to; auth_required when invalid. */
  identify(token: Secret, op: Op): Promise<Identity>;
  dispose?(): Promise<void>;
}
