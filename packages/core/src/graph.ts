// Service dependency graph: start order, stop order, parallel start layers, cycles.
// Used by config validation (with file positions) and by the agent's supervisor.
import { NexusError } from "./errors.js";

/** The part of a service the graph needs. */
export interface ServiceGraphNode {
  depends_on?: readonly string[] | undefined;
}

/** Services keyed by name (as in ProjectConfig.services), a Map, or a list of named services. */
export type ServiceGraphInput =
  | Readonly<Record<string, ServiceGraphNode>>
  | ReadonlyMap<string, ServiceGraphNode>
  | readonly (ServiceGraphNode & { name: string })[];

export type ServiceGraphProblem =
  /** `cycle` is the closed path: ["api", "web", "api"] means api depends on web, which depends on api. */
  | { kind: "cycle"; cycle: string[] }
  /** `index` is the position of `target` in the service's depends_on list. */
  | { kind: "unknown_dependency"; service: string; target: string; index: number };

/** Name → sorted, de-duplicated dependency names; services in name order. */
function adjacency(services: ServiceGraphInput): Map<string, string[]> {
  return new Map(namedServices(services).map(([name, node]) => [name, [...new Set(node.depends_on ?? [])].sort(compareNames)]));
}

/** [name, service] pairs sorted by name, whatever the input shape. */
function namedServices(services: ServiceGraphInput): [string, ServiceGraphNode][] {
  const entries: [string, ServiceGraphNode][] = Array.isArray(services)
    ? (services as readonly (ServiceGraphNode & { name: string })[]).map((s) => [s.name, s])
    : services instanceof Map
      ? [...(services as ReadonlyMap<string, ServiceGraphNode>)]
      : Object.entries(services as Readonly<Record<string, ServiceGraphNode>>);
  return entries.sort(([a], [b]) => compareNames(a, b));
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `api -> web -> api` */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(" -> ");
}

/**
 * Every dependency cycle, one per strongly connected group of services, each as a closed path
 * that starts and ends at the group's first service by name. Unknown targets are ignored here.
 */
export function findCycles(services: ServiceGraphInput): string[][] {
  const graph = adjacency(services);
  const edges = (name: string) => (graph.get(name) ?? []).filter((target) => graph.has(target));
  const cycles: string[][] = [];
  for (const group of stronglyConnected(graph, edges)) {
    const first = [...group].sort(compareNames)[0]!;
    if (group.size === 1 && !edges(first).includes(first)) continue;
    cycles.push(shortestCycleThrough(first, (name) => edges(name).filter((target) => group.has(target))));
  }
  return cycles.sort((a, b) => compareNames(a[0]!, b[0]!));
}

/** The first dependency cycle (see findCycles), or undefined when the graph has none. */
export function findCycle(services: ServiceGraphInput): string[] | undefined {
  return findCycles(services)[0];
}

/** Tarjan's algorithm, iterative so that long dependency chains cannot overflow the stack. */
function stronglyConnected(graph: Map<string, string[]>, edges: (name: string) => string[]): Set<string>[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: Set<string>[] = [];
  let counter = 0;
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: { name: string; next: number }[] = [{ name: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const targets = edges(frame.name);
      if (frame.next < targets.length) {
        const target = targets[frame.next++]!;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ name: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.name, Math.min(low.get(frame.name)!, index.get(target)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.name, Math.min(low.get(parent.name)!, low.get(frame.name)!));
      if (low.get(frame.name) === index.get(frame.name)) {
        const group = new Set<string>();
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          group.add(member);
        } while (member !== frame.name);
        groups.push(group);
      }
    }
  }
  return groups;
}

/** Breadth-first search back to `start`, visiting neighbours by name: short and deterministic. */
function shortestCycleThrough(start: string, edges: (name: string) => string[]): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const name = queue[i]!;
    for (const target of edges(name)) {
      if (target === start) {
        const backwards = [name];
        while (backwards[backwards.length - 1] !== start) backwards.push(cameFrom.get(backwards[backwards.length - 1]!)!);
        return [...backwards.reverse(), start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, name);
        queue.push(target);
      }
    }
  }
  throw new Error(`no cycle through ${start}`);
}

/** Unknown depends_on targets (by service, then list order) followed by every cycle. */
export function serviceGraphProblems(services: ServiceGraphInput): ServiceGraphProblem[] {
  const problems: ServiceGraphProblem[] = [];
  const named = namedServices(services);
  const known = new Set(named.map(([name]) => name));
  for (const [service, node] of named) {
    (node.depends_on ?? []).forEach((target, index) => {
      if (!known.has(target)) problems.push({ kind: "unknown_dependency", service, target, index });
    });
  }
  for (const cycle of findCycles(services)) problems.push({ kind: "cycle", cycle });
  return problems;
}

/** One sentence per problem, naming every service involved. */
export function describeServiceGraphProblem(problem: ServiceGraphProblem): string {
  if (problem.kind === "cycle") {
    if (problem.cycle.length === 2) return `service "${problem.cycle[0]}" depends on itself (${formatCycle(problem.cycle)})`;
    const members = problem.cycle.slice(0, -1).map((name) => `"${name}"`).join(", ");
    return `dependency cycle ${formatCycle(problem.cycle)}: services ${members} wait for each other, so none can start`;
  }
  return `service "${problem.service}" depends on "${problem.target}", which is not a defined service`;
}

/** The invalid_config error for a graph that cannot be ordered. */
export function serviceGraphError(problems: readonly ServiceGraphProblem[]): NexusError {
  const lines = problems.map(describeServiceGraphProblem);
  return new NexusError("invalid_config", lines.length === 1 ? lines[0]! : `the service graph has ${lines.length} problems:\n${lines.join("\n")}`, {
    details: { problems },
    hint: "Fix depends_on in .nexus/config.yaml so every target exists and no service waits for itself.",
  });
}

/** Throws serviceGraphError when a dependency is unknown or services form a cycle. */
export function assertServiceGraph(services: ServiceGraphInput): void {
  const problems = serviceGraphProblems(services);
  if (problems.length > 0) throw serviceGraphError(problems);
}

/**
 * Groups that can start in parallel: every service's dependencies are in earlier groups.
 * Each group is sorted by name. Throws invalid_config on unknown targets and cycles.
 */
export function startLayers(services: ServiceGraphInput): string[][] {
  assertServiceGraph(services);
  const graph = adjacency(services);
  const layerOf = new Map<string, number>();
  const layers: string[][] = [];
  let remaining = [...graph.keys()];
  while (remaining.length > 0) {
    const ready = remaining.filter((name) => graph.get(name)!.every((dep) => layerOf.has(dep)));
    for (const name of ready) layerOf.set(name, layers.length);
    layers.push(ready);
    remaining = remaining.filter((name) => !layerOf.has(name));
  }
  return layers;
}

/**
 * Dependencies first; among services whose dependencies have all started, the first by name.
 * Throws invalid_config on unknown targets and cycles.
 */
export function serviceStartOrder(services: ServiceGraphInput): string[] {
  assertServiceGraph(services);
  const graph = adjacency(services);
  const started = new Set<string>();
  const order: string[] = [];
  while (order.length < graph.size) {
    // Names are iterated in order, so the first ready one is the smallest.
    for (const [name, deps] of graph) {
      if (!started.has(name) && deps.every((dep) => started.has(dep))) {
        started.add(name);
        order.push(name);
        break;
      }
    }
  }
  return order;
}

/** The reverse of serviceStartOrder: dependents stop before what they depend on. */
export function serviceStopOrder(services: ServiceGraphInput): string[] {
  return serviceStartOrder(services).reverse();
}
