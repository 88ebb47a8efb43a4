import type { z } from "zod";

export interface IssueDetail {
  path: string;
  message: string;
  code: string;
}

/** zod issues as plain, serialisable details: `resources.memory: Expected a size`. */
export function zodIssuesToDetails(issues: readonly z.core.$ZodIssue[]): IssueDetail[] {
  return issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
    code: issue.code,
  }));
}
