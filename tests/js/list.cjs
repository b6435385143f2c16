// The first pages of list operations through the AWS SDK for JavaScript v3, as the tests compare them:
//   node list.cjs ENDPOINT MAX_RESULTS PAGES OPERATION...
// Prints {"OPERATION": [[job ids of page 1], [page 2], ...], ...}. Each page is one call of the operation's
// command with the NextToken of the one before. Credentials and region come from the environment.
const cm = require("@aws-sdk/client-comprehendmedical");

async function main() {
  const [endpoint, max, pages, ...operations] = process.argv.slice(2);
  const client = new cm.ComprehendMedicalClient({ endpoint, region: process.env.AWS_REGION || "us-east-1" });
  const out = {};
  for (const operation of operations) {
    const Command = cm[`${operation}Command`];
    if (!Command) throw new Error(`the SDK has no ${operation}Command`);
    out[operation] = [];
    let token;
    for (let i = 0; i < Number(pages); i++) {
      const page = await client.send(new Command({ MaxResults: Number(max), NextToken: token }));
      out[operation].push((page.ComprehendMedicalAsyncJobPropertiesList || []).map((j) => j.JobId));
      token = page.NextToken;
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`${e.name}: ${e.message}\n`);
  process.exit(1);
});
