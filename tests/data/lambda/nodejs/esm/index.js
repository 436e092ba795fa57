// An ES module in a .js file, made one by package.json's "type": "module".
export async function handler(event) {
  return { esm: true, keys: Object.keys(event).sort() };
}
