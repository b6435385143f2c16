// talkback 4.2 in playback mode, for bench/replay.sh: serves the tapes in TAPES_DIR on PORT, records nothing.
// Usage: NODE_PATH=<dir with node_modules> node bench/talkback-playback.js TAPES_DIR PORT
const talkback = require("talkback");
const [tapes, port] = process.argv.slice(2);
const server = talkback({
  host: "http://127.0.0.1:9",
  port: Number(port),
  path: tapes,
  record: talkback.Options.RecordMode.DISABLED,
  fallbackMode: talkback.Options.FallbackMode.NOT_FOUND,
  silent: true,
  summary: false,
});
server.start(() => console.log(`listening on http://127.0.0.1:${port}`));
