// Module init that fails.
console.log("initialising, about to fail");
throw new Error("cannot load configuration");
