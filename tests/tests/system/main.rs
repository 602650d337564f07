//! System tests: a real kernel, real `.wasm` plugins, real HTTP.
//! One test binary, so the kernel and wasmtime link once.

mod access;
mod audit;
mod backups;
mod bank;
mod contracts;
mod contracts_itsm;
mod currencies;
mod domain;
mod events;
mod finance;
mod gateway;
mod hr;
mod imports;
mod inventory;
mod isolation;
mod itsm;
mod jobs;
mod lifecycle;
mod metrics;
mod payroll;
mod periods;
mod purchasing;
mod receivables;
mod report_mail;
mod reports;
mod restart;
mod sandbox;
mod schedules;
mod sealing;
mod sign_in;
mod tamper;
mod threads;
mod timers;
mod webhooks;
mod year;
