/** Environment reading shared by the Lambda config modules, so every function fails fast the same way. */

/** A reader of required variables of `env`: the value, or an Error naming the variable when it is unset or empty. */
export function requiredVariable(env: NodeJS.ProcessEnv): (name: string) => string {
  return (name) => {
    const value = env[name];
    if (!value) throw new Error(`Missing environment variable ${name}`);
    return value;
  };
}
