import { createServer } from "node:http";
import { type AppEnv, createApp } from "./app.js";

// `npm start`: the app on PORT (default 3000), configured from its environment.
const env = process.env as unknown as AppEnv;
const { handler } = createApp(env);
createServer(handler).listen(Number(process.env.PORT ?? 3000));
