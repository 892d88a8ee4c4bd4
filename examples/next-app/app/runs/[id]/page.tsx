import { RunView } from "./run-view";

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <main>
      <h1>Workflow run</h1>
      <p>
        <code>{id}</code> · <a href="/">run another document</a>
      </p>
      <RunView id={id} />
    </main>
  );
}
