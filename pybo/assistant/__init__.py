"""The board's assistant: the board as a knowledge source, similar questions, AI answers.

- `board_index`: every question with its answers (accepted first, then by votes) is
  indexed in the `board` space with the same hybrid code as PDFs, kept in step through a
  queue table and the job runner;
- `similar`: questions like the one being typed (`GET /question/similar/`);
- `ai_answer`: an answer drafted by the local model from the shared library and the
  board (never from anyone's private documents), posted by the AI 도우미 account.

It uses the knowledge layer (`pybo.knowledge`) and the chat's chain and runtime
(`pybo.rag_chat`), and never copies them.
"""
