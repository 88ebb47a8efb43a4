import t from "tap";
import { StreamDemuxer } from "../../src/engine/stream.js";
import { frame } from "../fake-engine.js";

t.test("frames split at every byte boundary reassemble in order", async (t) => {
  const wire = Buffer.concat([frame("stdout", "hello "), frame("stderr", "oops\n"), frame("stdout", "world\n"), frame("stdout", "")]);
  for (let split = 1; split <= wire.length; split++) {
    const demuxer = new StreamDemuxer();
    const frames = [];
    for (let offset = 0; offset < wire.length; offset += split) frames.push(...demuxer.push(wire.subarray(offset, offset + split)));
    demuxer.end();
    t.same(frames.map((f) => [f.stream, f.data.toString()]), [["stdout", "hello "], ["stderr", "oops\n"], ["stdout", "world\n"], ["stdout", ""]], `chunks of ${split}`);
  }
});

t.test("several frames in one chunk, and binary payloads, come out intact", async (t) => {
  const payload = Buffer.from([0, 1, 2, 255, 10, 13]);
  const demuxer = new StreamDemuxer();
  const frames = demuxer.push(Buffer.concat([frame("stdout", payload), frame("stderr", payload)]));
  t.equal(frames.length, 2);
  t.same([...frames[0]!.data], [...payload]);
  t.equal(frames[1]!.stream, "stderr");
});

t.test("stdin echo (0) reads as stdout, the Engine's error stream (3) as stderr", async (t) => {
  const header = (kind: number, size: number) => Buffer.from([kind, 0, 0, 0, 0, 0, 0, size]);
  const frames = new StreamDemuxer().push(Buffer.concat([header(0, 1), Buffer.from("a"), header(3, 1), Buffer.from("b")]));
  t.same(frames.map((f) => f.stream), ["stdout", "stderr"]);
});

t.test("a stream ending inside a frame, or a garbage header, is an error", async (t) => {
  const truncated = new StreamDemuxer();
  truncated.push(frame("stdout", "abcdef").subarray(0, 10));
  t.throws(() => truncated.end(), /unfinished frame/);
  t.throws(() => new StreamDemuxer().push(Buffer.from("HTTP/1.1 200 OK\r\n")), /unknown stream id/);
});
