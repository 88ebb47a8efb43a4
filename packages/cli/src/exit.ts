// A command that ends with a specific exit status without it being an error of its own:
// `workspace exec` returns the remote command's status, Ctrl-C returns 130. The error
// boundary in program.ts returns `status` and prints nothing.
export class ExitStatus extends Error {
  constructor(readonly status: number) {
    super(`exit status ${status}`);
    this.name = "ExitStatus";
  }
}

/** The status a shell reports for a process killed by `signal`. */
export const SIGINT_STATUS = 130;
