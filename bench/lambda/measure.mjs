// Runs in a fresh node process per sample (`npm run bench:lambda`): imports one bundle, calls its
// handler once, and prints the process's CPU microseconds since it started, after the import and
// after the first call, as one JSON line: a cold start as Lambda bills it (node's own boot
// included, the same for every bundle). Plain .mjs so the process loads nothing but the bundle.
const [bundle, eventJson] = process.argv.slice(2);
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const context = {
  functionName: 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench',
  memoryLimitInMB: '256',
  awsRequestId: '00000000-0000-4000-8000-000000000000',
  logGroupName: '/aws/lambda/bench',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
};
const { handler } = await import(bundle);
const imported = cpu();
let error;
await handler(JSON.parse(eventJson), context).catch((e) => (error = `${e?.name}: ${e?.message}`.slice(0, 300)));
const called = cpu();
process.stdout.write(`${JSON.stringify({ importUs: imported, firstCallUs: called, rssMiB: process.memoryUsage.rss() / 2 ** 20, error })}\n`);
process.exit(0);
