// Crear una campaña vía API
const campaign = await fluenzr.campaigns.create({
  name: 'Automatizada Q1 2025',
  emailAccountId: 'acc_123',
  // ...
});

// Añadir contactos
await fluenzr.campaigns.addContacts(campaign.id, {
  groupId: 'grp_456'
});

// Iniciar
await fluenzr.campaigns.start(campaign.id);
