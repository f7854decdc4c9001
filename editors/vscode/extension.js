// The prellm extension: starts `prellm lsp` for YAML files and tells the YAML extension
// (redhat.vscode-yaml, when installed) which files are workflows, so its key completion uses
// prellm's schema for `*.prellm.yaml` and for any YAML file with a top-level `prellm:` key.
const vscode = require("vscode");
const fs = require("fs");
const path = require("path");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function isWorkflow(text) {
  return /^prellm:/m.test(text);
}

async function associateSchema(context) {
  const yaml = vscode.extensions.getExtension("redhat.vscode-yaml");
  if (!yaml) return;
  const api = await yaml.activate();
  if (!api || typeof api.registerContributor !== "function") return;
  const schemaURI = "prellm:/workflow.schema.json";
  const schemaFile = path.join(context.extensionPath, "schemas", "workflow.schema.json");
  // Content-based: the YAML extension asks for each file it opens.
  api.registerContributor(
    "prellm",
    (resource) => {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === resource);
      const named = resource.endsWith(".prellm.yaml") || resource.endsWith(".prellm.yml");
      return named || (doc && isWorkflow(doc.getText())) ? schemaURI : undefined;
    },
    (uri) => (uri === schemaURI ? fs.readFileSync(schemaFile, "utf8") : undefined),
    "prellm workflow"
  );
}

async function activate(context) {
  const config = vscode.workspace.getConfiguration("prellm");
  const command = config.get("path") || "prellm";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "prellm",
    "prellm",
    { run: server, debug: server },
    {
      // The server answers only files with a top-level `prellm:` key (or named *.prellm.yaml).
      documentSelector: [{ scheme: "file", language: "yaml" }],
      outputChannelName: "prellm",
    }
  );
  await client.start();
  context.subscriptions.push(client);
  await associateSchema(context).catch((e) => client.warn(`YAML schema association: ${e}`));
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
