// Loaded into every test file's process (run-tests.mjs passes it with
// --require; Node's runner hands its execArgv on to the files it spawns).
// With --test-force-exit, Node 20's runner can exit a file's process while
// its last reports still sit in the stdout pipe's buffer
// (nodejs/node#64833): the totals then miss them, and a failing test's
// name and error can be lost (the run still fails, by the exit code).
// Blocking writes leave nothing buffered when the process exits.
const handle = process.stdout._handle;
if (handle && typeof handle.setBlocking === 'function') handle.setBlocking(true);
