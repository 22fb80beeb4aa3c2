// The errors and exit codes live in core (decisions raise them); every layer imports them from here.
export * from './core/errors.js'
