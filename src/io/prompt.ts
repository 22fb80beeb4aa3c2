/** The questions commands ask; swapped for a scripted fake in tests (STYLE.md §2). */
export interface Prompter {
  input(q: { message: string; default?: string; validate?: (v: string) => true | string }): Promise<string>
  checkbox<T extends string>(q: {
    message: string
    choices: { value: T; name?: string; checked?: boolean }[]
  }): Promise<T[]>
}

/** The real prompts (@inquirer/prompts), loaded only when a question is asked. */
export const inquirerPrompter: Prompter = {
  async input(q) {
    const { input } = await import('@inquirer/prompts')
    return input({
      message: q.message,
      ...(q.default !== undefined ? { default: q.default } : {}),
      ...(q.validate ? { validate: q.validate } : {}),
    })
  },
  async checkbox(q) {
    const { checkbox } = await import('@inquirer/prompts')
    return checkbox({ message: q.message, choices: q.choices })
  },
}
