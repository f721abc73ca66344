// The dashboard's files are bundled as text (esbuild's `with { type: 'text' }`); this tells TypeScript so.
declare module '*.html' {
  const text: string;
  export default text;
}
declare module '*.svg' {
  const text: string;
  export default text;
}
declare module '*.css' {
  const text: string;
  export default text;
}
declare module '*/dashboard/app.js' {
  const text: string;
  export default text;
}
