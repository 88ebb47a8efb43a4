// The parts of the Engine API's answers this provider reads (API v1.41 shapes).

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Labels?: Record<string, string> | null;
  State?: string;
  Ports?: Array<{ PrivatePort: number; PublicPort?: number; Type: string; IP?: string }>;
}

export interface ContainerState {
  /** created | restarting | running | removing | paused | exited | dead */
  Status: string;
  Running: boolean;
  ExitCode: number;
  Error?: string;
  OOMKilled?: boolean;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  State: ContainerState;
  Config: { Labels?: Record<string, string> | null; Image?: string };
  HostConfig: { PortBindings?: Record<string, PortBinding[] | null> | null };
  NetworkSettings: {
    Networks?: Record<string, { IPAddress?: string }> | null;
    Ports?: Record<string, PortBinding[] | null> | null;
  };
}

export interface ExecInspect {
  Running: boolean;
  ExitCode: number | null;
}

export interface NetworkInspect {
  Name: string;
  Driver: string;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface EngineVersion {
  Version: string;
  ApiVersion: string;
  Os?: string;
  Arch?: string;
}
