import type { ReactNode } from "react";

export const metadata = { title: "extendkit + Next.js" };

const css = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 44rem; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; } table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e4e4e7; }
.badge { display: inline-block; padding: .1rem .6rem; border-radius: 999px; background: #eef; font-weight: 600; }
.badge[data-final="true"] { background: #dcfce7; } .error { color: #b91c1c; }
ol.history { display: flex; gap: .5rem; list-style: none; padding: 0; color: #52525b; font-size: .9rem; }
ol.history li + li::before { content: "→"; margin-right: .5rem; }
`;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <style>{css}</style>
        {children}
      </body>
    </html>
  );
}
