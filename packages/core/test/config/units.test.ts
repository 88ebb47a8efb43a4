import t from "tap";
import { isNexusError } from "../../src/errors.js";
import { formatDuration, formatSize, parseDuration, parseSize } from "../../src/config/index.js";

t.test("durations normalise to milliseconds; bare numbers are seconds", async (t) => {
  const table: [string | number, number][] = [
    [10, 10_000],
    ["10", 10_000],
    ["10s", 10_000],
    ["500ms", 500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1.5s", 1500],
    [0.25, 250],
    ["0s", 0],
    [0, 0],
  ];
  for (const [input, ms] of table) t.equal(parseDuration(input), ms, `${JSON.stringify(input)} → ${ms}ms`);
});

t.test("bad durations throw a NexusError that says what to write", async (t) => {
  for (const input of ["10x", "s", "", "-1s", "1 s", "10S", "1m 30s"]) {
    t.throws(() => parseDuration(input), { code: "invalid_request", message: /is not a valid duration: write a number with a unit/ }, JSON.stringify(input));
  }
  t.throws(() => parseDuration(-1), { code: "invalid_request", message: /non-negative/ });
  t.throws(() => parseDuration(Number.NaN), { code: "invalid_request" });
  t.throws(() => parseDuration("25d"), { code: "invalid_request" });
  t.throws(() => parseDuration("600h"), { message: /longer than the maximum/ });
  try {
    parseDuration("10x");
  } catch (error) {
    t.ok(isNexusError(error));
    t.same((error as { details: unknown }).details, { value: "10x" });
  }
});

t.test("sizes normalise to bytes: KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB and Ki/Mi/Gi/Ti of 1024", async (t) => {
  const table: [string | number, number][] = [
    [1048576, 1048576],
    ["1048576", 1048576],
    ["512MiB", 512 * 2 ** 20],
    ["4GB", 4e9],
    ["4GiB", 4 * 2 ** 30],
    ["4Gi", 4 * 2 ** 30],
    ["20GiB", 20 * 2 ** 30],
    ["1.5GiB", 1.5 * 2 ** 30],
    ["100kB", 100_000],
    ["2TiB", 2 * 2 ** 40],
    ["4 GiB", 4 * 2 ** 30],
    ["4gib", 4 * 2 ** 30],
    ["10B", 10],
    [0, 0],
  ];
  for (const [input, bytes] of table) t.equal(parseSize(input), bytes, `${JSON.stringify(input)} → ${bytes}`);
});

t.test("bad sizes throw a NexusError; a bare K/M/G/T is ambiguous", async (t) => {
  t.throws(() => parseSize("4G"), { code: "invalid_request", message: /"G" is ambiguous: write GiB \(powers of 1024\) or GB \(powers of 1000\)/ });
  t.throws(() => parseSize("4m"), { message: /ambiguous: write MiB/ });
  for (const input of ["lots", "4XB", "", "-1GiB", "GiB"]) {
    t.throws(() => parseSize(input), { code: "invalid_request", message: /is not a valid size/ }, JSON.stringify(input));
  }
  t.throws(() => parseSize(1.5), { message: /whole/ });
  t.throws(() => parseSize(-1), { message: /non-negative/ });
  t.throws(() => parseSize("12.5"), { message: /must be whole/ });
  t.throws(() => parseSize("99999999TiB"), { message: /too large/ });
});

t.test("formatDuration and formatSize give the shortest exact form and round-trip", async (t) => {
  t.equal(formatDuration(1500), "1500ms");
  t.equal(formatDuration(2000), "2s");
  t.equal(formatDuration(90_000), "90s");
  t.equal(formatDuration(120_000), "2m");
  t.equal(formatDuration(7_200_000), "2h");
  t.equal(formatDuration(0), "0s");
  t.equal(formatSize(4 * 2 ** 30), "4GiB");
  t.equal(formatSize(512 * 2 ** 20), "512MiB");
  t.equal(formatSize(1500), "1500");
  t.equal(formatSize(0), "0");
  for (const ms of [1, 999, 1000, 61_000, 3_600_000]) t.equal(parseDuration(formatDuration(ms)), ms);
  for (const bytes of [1, 1024, 3 * 2 ** 40, 1e9]) t.equal(parseSize(formatSize(bytes)), bytes);
});
